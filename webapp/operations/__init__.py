"""Running an installation: the health probe, the private media files, the out-of-space error page, backup and
restore, the clean-up of files no row needs, disk use, and the admin's commands (createadmin, announce_ready,
backup, restore). No models of its own."""
