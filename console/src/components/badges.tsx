import { Buildings, CheckCircle, GlobeHemisphereWest, LockSimple, Warning, XCircle } from "@phosphor-icons/react";
import { Badge } from "./ui/badge";
import { Tooltip } from "./ui/tooltip";

export function ModelStatusBadge({ status }: { status: string }) {
  if (status === "available")
    return (
      <Badge variant="success">
        <CheckCircle size={12} weight="fill" aria-hidden /> available
      </Badge>
    );
  if (status === "degraded")
    return (
      <Badge variant="warning">
        <Warning size={12} weight="fill" aria-hidden /> degraded
      </Badge>
    );
  return (
    <Badge variant="destructive">
      <XCircle size={12} weight="fill" aria-hidden /> {status || "unknown"}
    </Badge>
  );
}

export function PolicyBadge({ policy, org, allowed }: { policy: string; org?: string; allowed?: string[] }) {
  if (policy === "organization")
    return (
      <Tooltip content={`Only keys of organization ${org ?? "?"}`}>
        <Badge variant="outline">
          <Buildings size={12} aria-hidden /> org{org ? `: ${org}` : ""}
        </Badge>
      </Tooltip>
    );
  if (policy === "private")
    return (
      <Tooltip content={allowed?.length ? `Only keys: ${allowed.join(", ")}` : "No key may use it yet: add allowed keys"}>
        <Badge variant="outline">
          <LockSimple size={12} aria-hidden /> private
        </Badge>
      </Tooltip>
    );
  return (
    <Tooltip content="Any gateway key may use it">
      <Badge variant="outline">
        <GlobeHemisphereWest size={12} aria-hidden /> public
      </Badge>
    </Tooltip>
  );
}

/** ok / error / running / skipped … for executions and steps. */
export function RunStatusBadge({ status }: { status: string }) {
  const variant =
    status === "ok" ? "success" : status === "error" ? "destructive" : status === "running" || status === "pending" ? "warning" : "muted";
  return <Badge variant={variant}>{status}</Badge>;
}
