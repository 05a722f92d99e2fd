"""Issue 15: synchronisation with the National Public Service Portal (DVCQG). Each dossier's creation and status
change becomes a message in the portal's shape, written in the step's transaction, and a worker delivers it in
order per dossier to a configurable endpoint. No portal is called unless one is configured."""
