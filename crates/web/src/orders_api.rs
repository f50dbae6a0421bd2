//! `/api/v1/orders…`: the wizard steps as JSON, with the same rules as the pages.
