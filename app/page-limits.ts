// Page sizes of the paged lists (notes, trash, search), shared by the host and the HTTP client.
// No imports: the browser bridge bundles this file.

/** Rows per page when the caller does not say. */
export const DEFAULT_PAGE = 200;
/** The most rows one page (or one summaries request) may ask for. */
export const MAX_PAGE = 1000;
