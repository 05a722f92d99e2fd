"""Statutory one-stop forms (DOMAIN.md §1.3): issued when their step happens, numbered, stored as PDF.

* :mod:`server.forms.catalogue`: which forms each circular has, from dated reference data (``data/circulars.json``);
* :mod:`server.forms.numbering`: the per-agency, per-year number sequences ("Số: 12/TNHS");
* :mod:`server.forms.content`: what each form says, as a list of blocks (the same for the page and the PDF);
* :mod:`server.forms.pdf`: the blocks laid out on A5 paper with the embedded DejaVu font (``fonts/``);
* :mod:`server.forms.issue`: issuing a form at a dossier's step (number and content), stored among its documents;
* :mod:`server.forms.rendering`: its PDF, rendered by the push worker after the step's commit (``flask forms
  render-pending`` once, :mod:`server.forms.cli`);
* :mod:`server.forms.views`: the desk's pages, HTML and PDF.
"""
