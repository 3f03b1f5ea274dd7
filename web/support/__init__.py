"""What the views share and never import back: access rules and loaders,
sessions and headers, errors, uploads, paging, labels and presentation, the
rendering of charts, Excel and PDF, the navigation and the catalogue.
``.importlinter`` keeps this package below ``web.views``."""
