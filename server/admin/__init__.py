"""Administration pages: procedures and their dated versions, the working calendar, wards and agency codes.

Server-rendered forms (post, then redirect); every change writes an audit row (``server/auth/audit.py``) and each
page shows the recent audit rows of its objects. Administrators only.
"""
