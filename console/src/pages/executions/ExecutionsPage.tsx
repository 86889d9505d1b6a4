export function ExecutionsPage() { return null; }
