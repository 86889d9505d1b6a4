// A pipeline handed from the list page's import to a new builder (in sessionStorage).
export const IMPORT_KEY = "iom.pipelineImport";
