import { ArrowClockwise, CircleNotch, WarningCircle } from "@phosphor-icons/react";
import type { ReactNode } from "react";
import { Button } from "./button";
import { cn } from "@/lib/utils";

export function Spinner({ className, label = "Loading" }: { className?: string; label?: string }) {
  return (
    <span role="status" className={cn("inline-flex items-center gap-2 text-muted-foreground", className)}>
      <CircleNotch className="animate-spin" size={16} aria-hidden />
      <span className="text-sm">{label}…</span>
    </span>
  );
}

export function Skeleton({ className }: { className?: string }) {
  return <div aria-hidden className={cn("animate-pulse rounded-md bg-muted", className)} />;
}

export function LoadingBlock({ rows = 3, label = "Loading" }: { rows?: number; label?: string }) {
  return (
    <div className="grid gap-3" aria-busy="true">
      <span className="sr-only" role="status">
        {label}…
      </span>
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} className="h-16 w-full" />
      ))}
    </div>
  );
}

export function EmptyState({ icon, title, children, action, className }: { icon?: ReactNode; title: string; children?: ReactNode; action?: ReactNode; className?: string }) {
  return (
    <div className={cn("flex flex-col items-center justify-center rounded-lg border border-dashed bg-card/50 px-6 py-12 text-center", className)}>
      {icon && <div className="mb-3 text-muted-foreground/70">{icon}</div>}
      <h3 className="text-sm font-semibold">{title}</h3>
      {children && <div className="mt-1 max-w-md text-sm text-muted-foreground">{children}</div>}
      {action && <div className="mt-4">{action}</div>}
    </div>
  );
}

/** An error from the API, shown as it was said, with a retry. */
export function ErrorState({ error, onRetry, title = "Something went wrong", className }: { error: Error; onRetry?: () => void; title?: string; className?: string }) {
  return (
    <div role="alert" className={cn("flex items-start gap-3 rounded-lg border border-destructive/30 bg-destructive/5 p-4", className)}>
      <WarningCircle className="mt-0.5 text-destructive" size={18} aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="text-sm font-medium text-destructive">{title}</p>
        <p className="mt-0.5 break-words text-sm text-foreground/80">{error.message}</p>
      </div>
      {onRetry && (
        <Button size="sm" variant="outline" onClick={onRetry}>
          <ArrowClockwise size={14} aria-hidden /> Retry
        </Button>
      )}
    </div>
  );
}

export function InlineError({ message, className }: { message: string | null | undefined; className?: string }) {
  if (!message) return null;
  return (
    <p role="alert" className={cn("rounded-md bg-destructive/10 px-3 py-2 text-sm text-destructive break-words", className)}>
      {message}
    </p>
  );
}
