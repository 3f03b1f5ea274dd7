"""The reform areas (承诺制, 标准地, chemicals, intentions, documents, ratings).
Each plugs its guards and consequences into the core through
``workflow.core.hooks``; the core never imports an area."""
