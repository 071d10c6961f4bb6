"""Registry management over HTTP: sites, locations, residents, devices, contacts, staff and
shifts, and CSV bulk import. Writes go through ``anxin.registry`` where it has the function."""
