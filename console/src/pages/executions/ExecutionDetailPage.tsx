export function ExecutionDetailPage() { return null; }
