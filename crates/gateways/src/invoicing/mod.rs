//! E-invoicing providers. `nuonuo`: the 诺诺 open platform (数电票 through 诺税通), speaking
//! its documented protocol (signed `POST /open/v1/services`, access token, asynchronous
//! issue and query, 红冲, files fetched once). Settings: `docs/INVOICING.md`.

pub mod nuonuo;
