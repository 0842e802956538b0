"""The ledger branch's revisions. A package only so that installs ship the revision files."""
