"""Page-side code, shipped as package data: ``peersocket.js`` (the PeerSocket API
injected into every page) and the demo apps under ``apps/``. Nothing here is Python;
this file only makes the directory a package that ``importlib.resources`` can find."""
