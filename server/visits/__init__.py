"""Home-visit requests: a citizen (or a relative) asks for a visit, the ward's one-stop staff assign an officer and a
time, the officer's phone receives the visit at its next sync, and the citizen is told who will come and when.

``services.py`` holds the rules (choices offered, creation, scheduling, cancelling; it flushes, the view commits),
``forms.py`` turns submitted forms into values or Vietnamese field errors, ``views.py`` the server-rendered pages.
"""
