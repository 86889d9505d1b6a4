export function PipelinesPage() { return null; }
