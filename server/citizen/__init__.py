"""The citizen's side: dossiers followed, doorstep claims, followers and ratings."""
