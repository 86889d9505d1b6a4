import { Key, LockSimple, Plus, Trash, WarningCircle } from "@phosphor-icons/react";
import { useEffect, useState, type FormEvent } from "react";
import { z } from "zod";
import { Page, PageHeader } from "@/components/Layout";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { CopyButton } from "@/components/ui/code";
import { Confirm } from "@/components/ui/confirm";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { EmptyState, ErrorState, InlineError, LoadingBlock } from "@/components/ui/states";
import { useToast } from "@/components/ui/toast";
import { Tooltip } from "@/components/ui/tooltip";
import { api } from "@/lib/api";
import { fmtAgo, fmtCompact, fmtInt, fmtUsd } from "@/lib/format";
import { useApi } from "@/lib/hooks";
import type { CreatedKey, GatewayKey, NewKeyRequest } from "@/lib/types";

const optNum = (what: string, integer = false) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const n = Number(s);
      if (!Number.isFinite(n) || n < 0) {
        ctx.addIssue({ code: "custom", message: `${what} must be a non-negative number` });
        return z.NEVER;
      }
      if (integer && !Number.isInteger(n)) {
        ctx.addIssue({ code: "custom", message: `${what} must be a whole number` });
        return z.NEVER;
      }
      return n;
    });

export const keyFormSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, "A name is required")
    .max(100, "Keep the name under 100 characters"),
  org: z.string().trim(),
  models: z.array(z.string()),
  rps: optNum("Requests per second"),
  burst: optNum("Burst", true),
  tokensPerMinute: optNum("Tokens per minute", true),
  budgetUsd: optNum("Budget"),
  budgetPeriod: z.enum(["day", "week", "month"]),
});

export type KeyForm = z.input<typeof keyFormSchema>;
const emptyKey: KeyForm = { name: "", org: "", models: [], rps: "", burst: "", tokensPerMinute: "", budgetUsd: "", budgetPeriod: "month" };

/** The create-key request of a form, or the problems of each field. */
export function buildKeyRequest(f: KeyForm): { ok: true; req: NewKeyRequest } | { ok: false; errors: Record<string, string> } {
  const r = keyFormSchema.safeParse(f);
  if (!r.success) {
    const errors: Record<string, string> = {};
    for (const i of r.error.issues) errors[String(i.path[0])] ??= i.message;
    return { ok: false, errors };
  }
  const v = r.data;
  const req: NewKeyRequest = { name: v.name };
  if (v.org) req.org = v.org;
  if (v.models.length) req.models = v.models;
  const limits: NonNullable<NewKeyRequest["limits"]> = {};
  if (v.rps !== undefined) limits.rps = v.rps;
  if (v.burst !== undefined) limits.burst = v.burst;
  if (v.tokensPerMinute !== undefined) limits.tokensPerMinute = v.tokensPerMinute;
  if (v.budgetUsd !== undefined) limits.budget = { usd: v.budgetUsd, period: v.budgetPeriod };
  if (Object.keys(limits).length) req.limits = limits;
  return { ok: true, req };
}

function CreateKeyDialog({ open, onOpenChange, onCreated }: { open: boolean; onOpenChange: (o: boolean) => void; onCreated: () => void }) {
  const [f, setF] = useState<KeyForm>(emptyKey);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const models = useApi((signal) => (open ? api.listModels({ sort: "name" }, { signal }) : Promise.resolve(undefined)), [open]);
  const pipelines = useApi((signal) => (open ? api.listPipelines({ signal }) : Promise.resolve(undefined)), [open]);
  useEffect(() => {
    if (open) {
      setF(emptyKey);
      setErrors({});
      setError(null);
      setCreated(null);
    }
  }, [open]);
  const set = <K extends keyof KeyForm>(k: K, v: KeyForm[K]) => setF((x) => ({ ...x, [k]: v }));
  // MCP tools are listed with the models, but a key's allowlist names servers (mcp:<id>), not tools.
  const choices = [...(models.data?.data ?? []).filter((m) => m.modelType !== "tool").map((m) => m.id), ...(pipelines.data?.data ?? []).map((p) => `pipeline:${p.id}`)];

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = buildKeyRequest(f);
    if (!r.ok) {
      setErrors(r.errors);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setCreated(await api.createKey(r.req));
      onCreated();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const input = (k: keyof KeyForm, props: Record<string, unknown> = {}) => ({
    id: `key-${k}`,
    value: f[k] as string,
    onChange: (e: { target: { value: string } }) => set(k, e.target.value as never),
    "aria-invalid": !!errors[k],
    disabled: busy,
    ...props,
  });

  return (
    <Dialog open={open} onOpenChange={(o) => !busy && onOpenChange(o)}>
      <DialogContent aria-describedby="key-desc" className="max-w-xl">
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>Key created</DialogTitle>
              <DialogDescription id="key-desc">Copy it now: it is shown only this once. The gateway keeps only a hash.</DialogDescription>
            </DialogHeader>
            <DialogBody className="grid gap-3">
              <div className="flex items-center gap-2 rounded-md border bg-muted/60 p-3">
                <code className="min-w-0 flex-1 break-all font-mono text-sm" data-testid="new-key-secret">
                  {created.key}
                </code>
                <CopyButton text={created.key} />
              </div>
              <p className="flex items-start gap-1.5 text-xs text-muted-foreground">
                <WarningCircle size={14} className="mt-px shrink-0 text-warning" aria-hidden /> Apps send it as <code>Authorization: Bearer …</code> (or <code>x-api-key</code>) to the data plane.
              </p>
              <p className="text-xs text-muted-foreground">
                Its id, for a private model&apos;s allowed keys: <code className="font-mono" data-testid="new-key-id">{created.id}</code>
              </p>
            </DialogBody>
            <DialogFooter>
              <Button onClick={() => onOpenChange(false)}>I have copied it</Button>
            </DialogFooter>
          </>
        ) : (
          <form onSubmit={submit} className="flex min-h-0 flex-1 flex-col" noValidate>
            <DialogHeader>
              <DialogTitle>Create a key</DialogTitle>
              <DialogDescription id="key-desc">A gateway key for one app, with optional limits and a budget. Its name must be new in its organization.</DialogDescription>
            </DialogHeader>
            <DialogBody className="grid gap-3">
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Name" htmlFor="key-name" required error={errors.name}>
                  <Input {...input("name", { autoFocus: true, placeholder: "billing-service" })} />
                </Field>
                <Field label="Organization" htmlFor="key-org" error={errors.org} hint={<>For organization models and org budgets; empty: <code className="font-mono">default</code></>}>
                  <Input {...input("org", { placeholder: "default" })} />
                </Field>
              </div>
              <Field label="Allowed models" hint={f.models.length ? "Only these (and pipelines named here)" : "None chosen: every model its policies allow"}>
                <div className="flex max-h-28 flex-wrap gap-1 overflow-y-auto" role="group" aria-label="Allowed models">
                  {choices.length === 0 && <span className="text-xs text-muted-foreground">No models registered.</span>}
                  {choices.map((id) => {
                    const on = f.models.includes(id);
                    return (
                      <button
                        key={id}
                        type="button"
                        aria-pressed={on}
                        onClick={() => set("models", on ? f.models.filter((x) => x !== id) : [...f.models, id])}
                        className="rounded-full border px-2 py-0.5 font-mono text-[11px] hover:bg-accent aria-pressed:border-primary aria-pressed:bg-primary/10 aria-pressed:text-primary cursor-pointer"
                      >
                        {id}
                      </button>
                    );
                  })}
                </div>
              </Field>
              <div className="grid gap-3 sm:grid-cols-3">
                <Field label="Requests / second" htmlFor="key-rps" error={errors.rps}>
                  <Input {...input("rps", { inputMode: "decimal", placeholder: "unlimited" })} />
                </Field>
                <Field label="Burst" htmlFor="key-burst" error={errors.burst}>
                  <Input {...input("burst", { inputMode: "numeric", placeholder: "= rps" })} />
                </Field>
                <Field label="Tokens / minute" htmlFor="key-tokensPerMinute" error={errors.tokensPerMinute}>
                  <Input {...input("tokensPerMinute", { inputMode: "numeric", placeholder: "unlimited" })} />
                </Field>
              </div>
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Budget (USD)" htmlFor="key-budgetUsd" error={errors.budgetUsd} hint="Calls are refused once it is spent">
                  <Input {...input("budgetUsd", { inputMode: "decimal", placeholder: "no budget" })} />
                </Field>
                <Field label="Budget period" htmlFor="key-budgetPeriod">
                  <Select
                    id="key-budgetPeriod"
                    value={f.budgetPeriod}
                    onValueChange={(v) => set("budgetPeriod", v as KeyForm["budgetPeriod"])}
                    options={[
                      { value: "day", label: "Per day" },
                      { value: "week", label: "Per week" },
                      { value: "month", label: "Per month" },
                    ]}
                    disabled={busy}
                  />
                </Field>
              </div>
            </DialogBody>
            <DialogFooter>
              <InlineError message={error} className="mr-auto py-1.5" />
              <Button variant="outline" onClick={() => onOpenChange(false)} disabled={busy}>
                Cancel
              </Button>
              <Button type="submit" disabled={busy}>
                {busy ? "Creating…" : "Create key"}
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

function Limits({ k }: { k: GatewayKey }) {
  const l = k.limits;
  const parts: string[] = [];
  if (l?.rps) parts.push(`${l.rps} rps${l.burst ? ` (burst ${l.burst})` : ""}`);
  if (l?.tokensPerMinute) parts.push(`${fmtCompact(l.tokensPerMinute)} tok/min`);
  return <span className="text-xs">{parts.length ? parts.join(" · ") : <span className="text-muted-foreground">no limits</span>}</span>;
}

function Budget({ k }: { k: GatewayKey }) {
  const b = k.limits?.budget;
  const spent = k.usage?.spentUsd ?? 0;
  if (!b) return <span className="text-xs text-muted-foreground">{spent ? `${fmtUsd(spent)} spent` : "no budget"}</span>;
  const pct = b.usd > 0 ? Math.min(spent / b.usd, 1) : 1;
  return (
    <div className="min-w-36">
      <div className="flex justify-between text-xs tabular-nums">
        <span>
          {fmtUsd(spent)} / {fmtUsd(b.usd)}
        </span>
        <span className="text-muted-foreground">per {b.period ?? "month"}</span>
      </div>
      <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-muted" role="progressbar" aria-valuenow={Math.round(pct * 100)} aria-valuemin={0} aria-valuemax={100} aria-label={`Budget used by ${k.name}`}>
        <div className={`h-full ${pct >= 1 ? "bg-destructive" : pct > 0.8 ? "bg-warning" : "bg-success"}`} style={{ width: `${pct * 100}%` }} />
      </div>
    </div>
  );
}

export function KeysPage() {
  const toast = useToast();
  const keys = useApi((signal) => api.listKeys({ signal }), [], 10_000);
  const [open, setOpen] = useState(false);
  return (
    <Page>
      <PageHeader
        title="Keys"
        description="Gateway keys apps use on the data plane, with their limits, budgets and usage. Values are never shown again after creation."
        actions={
          <Button onClick={() => setOpen(true)}>
            <Plus size={16} aria-hidden /> Create key
          </Button>
        }
      />
      {keys.error && !keys.data ? (
        <ErrorState title="Cannot load keys" error={keys.error} onRetry={keys.reload} />
      ) : !keys.data ? (
        <LoadingBlock rows={3} label="Loading keys" />
      ) : keys.data.data.length === 0 ? (
        <EmptyState icon={<Key size={36} />} title="No keys yet" action={<Button onClick={() => setOpen(true)}><Plus size={16} aria-hidden /> Create key</Button>}>
          Without a key, apps cannot call the data plane. Create one per app to see its usage and cap its spend.
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border bg-card">
          <table className="w-full text-sm" aria-label="Keys">
            <thead className="border-b bg-muted/50 text-left text-xs text-muted-foreground">
              <tr>
                <th className="px-3 py-2 font-medium">Name</th>
                <th className="px-3 py-2 font-medium">Prefix</th>
                <th className="px-3 py-2 font-medium">Org</th>
                <th className="px-3 py-2 font-medium">Models</th>
                <th className="px-3 py-2 font-medium">Limits</th>
                <th className="px-3 py-2 font-medium">Tokens this minute</th>
                <th className="px-3 py-2 font-medium">Budget</th>
                <th className="px-3 py-2 font-medium">Created</th>
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody className="divide-y">
              {keys.data.data.map((k) => (
                <tr key={k.id} data-testid={`key-${k.name}`}>
                  <td className="px-3 py-2">
                    <div className="font-medium">{k.name}</div>
                    <div className="flex items-center gap-1 font-mono text-[10px] text-muted-foreground">
                      <span data-testid="key-id">{k.id}</span>
                      <CopyButton text={k.id} label="Copy id" className="px-1 py-0 text-[10px]" />
                    </div>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs">{k.prefix}…</td>
                  <td className="px-3 py-2 text-xs">{k.org || <span className="text-muted-foreground">—</span>}</td>
                  <td className="max-w-56 px-3 py-2 text-xs">
                    {k.models?.length ? <span className="line-clamp-2 font-mono" title={k.models.join(", ")}>{k.models.join(", ")}</span> : <span className="text-muted-foreground">all allowed</span>}
                  </td>
                  <td className="px-3 py-2">
                    <Limits k={k} />
                  </td>
                  <td className="px-3 py-2 text-xs tabular-nums">
                    {fmtInt(k.usage?.tokensThisMinute ?? 0)}
                    {k.limits?.tokensPerMinute ? <span className="text-muted-foreground"> / {fmtCompact(k.limits.tokensPerMinute)}</span> : null}
                  </td>
                  <td className="px-3 py-2">
                    <Budget k={k} />
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-xs text-muted-foreground">{k.createdAt ? fmtAgo(k.createdAt) : "—"}</td>
                  <td className="px-3 py-2 text-right">
                    {k.managedBy === "config" ? (
                      <Tooltip content="Defined in the config file: remove it there">
                        <Badge variant="muted">
                          <LockSimple size={11} aria-hidden /> config
                        </Badge>
                      </Tooltip>
                    ) : (
                      <Confirm
                        trigger={
                          <Button size="sm" variant="ghost" className="text-destructive" aria-label={`Revoke ${k.name}`}>
                            <Trash size={14} aria-hidden /> Revoke
                          </Button>
                        }
                        title={`Revoke ${k.name}?`}
                        confirmLabel="Revoke"
                        description="Apps using this key get 401 at once. This cannot be undone: create a new key instead."
                        onConfirm={async () => {
                          await api.revokeKey(k.id);
                          toast("success", `Revoked ${k.name}`);
                          keys.reload();
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateKeyDialog open={open} onOpenChange={setOpen} onCreated={keys.reload} />
    </Page>
  );
}
