export function Logo({ size = 24 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden>
      <rect width="32" height="32" rx="7" fill="oklch(0.51 0.22 277)" />
      <circle cx="10" cy="11" r="3" fill="#fff" />
      <circle cx="22" cy="11" r="3" fill="#fff" />
      <circle cx="16" cy="22" r="3" fill="#fff" />
      <path d="M10 11 16 22 22 11" stroke="#fff" strokeWidth="2" fill="none" />
    </svg>
  );
}
