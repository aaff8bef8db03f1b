"""Who may call what: role sets shared by the route declarations."""
from chalicelib.identity import Role

ADMIN = (Role.ADMIN.value,)
CATALOGUE_STAFF = (Role.ADMIN.value, Role.STAFF.value)
OVERSIGHT = (Role.ADMIN.value, Role.STAFF.value, Role.AUDITOR.value)
