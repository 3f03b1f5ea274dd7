"""The pages and the JSON API: one blueprint per audience or area (inbox,
desk, cases, portal, supervision, admin, api, notifications, commitments,
land, intentions, chemicals, documents, auth). A view reads the request,
checks the rule (``web.support.access.requires``), calls one engine operation
and renders ``templates/<area>/…``; what views share lives in ``web.support``."""
