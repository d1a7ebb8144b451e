"""Templates of a new datacody project (`datacody init`)."""
