"""The shipped data files (gazetteer, outlines, incident lexicon, story model) and loaders."""
