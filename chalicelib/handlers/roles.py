"""Who may call what: role sets shared by the route declarations."""
from chalicelib.identity import Role

ADMIN = (Role.ADMIN.value,)
CATALOGUE_STAFF = (Role.ADMIN.value, Role.STAFF.value)
OVERSIGHT = (Role.ADMIN.value, Role.STAFF.value, Role.AUDITOR.value)
CITIZEN = (Role.APPLICANT.value,)
EMPLOYER = (Role.EMPLOYER.value,)
CASE_STAFF = (Role.STAFF.value, Role.ADMIN.value)
#: Who may reach an application at all; chalicelib.domain.applications.authorize decides which one.
CASE_ACTORS = (Role.APPLICANT.value, Role.EMPLOYER.value, Role.STAFF.value, Role.ADMIN.value)
