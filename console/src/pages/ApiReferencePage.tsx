export function ApiReferencePage() { return null; }
