"""Personal data protection duties at the desk (PDPL 91/2025/QH15, Decree 356/2025/NĐ-CP).

* :mod:`.requests`: data subjects' requests (see, export, correct, restrict, delete), each a tracked item with its
  working-day deadlines;
* :mod:`.records`: what the ward holds about a person, what it must keep and why, and anonymisation;
* :mod:`.retention`: the per-procedure retention of closed dossiers' photos and personal data, and its purge;
* :mod:`.export`: a person's data as JSON and as a readable PDF.
"""
