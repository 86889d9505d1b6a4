import { LockSimple } from "@phosphor-icons/react";
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { JsonEditor } from "@/components/JsonEditor";
import { Button } from "@/components/ui/button";
import { Dialog, DialogBody, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Input, Textarea } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { InlineError } from "@/components/ui/states";
import { useToast } from "@/components/ui/toast";
import { api, ApiError } from "@/lib/api";
import { useApi } from "@/lib/hooks";
import { AZURE_API_VERSION, fieldsOf, inferProvider, slug } from "@/lib/provider";
import { MODEL_TYPES, PROVIDERS, type ModelView } from "@/lib/types";
import { buildModel, DEFAULT_ORG, emptyModelForm, fieldOfParam, formFromModel, type FormErrors, type ModelFormState } from "./modelForm";

function Section({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  return (
    <fieldset className="grid gap-3 border-t pt-4 first:border-t-0 first:pt-0">
      <legend className="sr-only">{title}</legend>
      <div aria-hidden>
        <h3 className="text-sm font-semibold">{title}</h3>
        {description && <p className="text-xs text-muted-foreground">{description}</p>}
      </div>
      {children}
    </fieldset>
  );
}

/** Register a model, or edit (or view, when managed by config) an existing one. */
export function ModelFormDialog({
  open,
  onOpenChange,
  model,
  models,
  onSaved,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  /** The model to edit; none to register a new one. */
  model?: ModelView;
  /** Every model, for the fallback choices. */
  models: ModelView[];
  onSaved: (m: ModelView) => void;
}) {
  const toast = useToast();
  const [state, setState] = useState<ModelFormState>(emptyModelForm);
  const [errors, setErrors] = useState<FormErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const readOnly = model?.managedBy === "config";

  useEffect(() => {
    if (!open) return;
    setState(model ? formFromModel(model) : emptyModelForm);
    setErrors({});
    setFormError(null);
  }, [open, model]);

  const set = <K extends keyof ModelFormState>(k: K, v: ModelFormState[K]) => {
    setState((s) => ({ ...s, [k]: v }));
    if (errors[k]) setErrors((e) => ({ ...e, [k]: undefined }));
  };
  const text = (k: keyof ModelFormState) => ({
    id: `model-${k}`,
    value: state[k] as string,
    onChange: (e: { target: { value: string } }) => set(k, e.target.value as never),
    "aria-invalid": !!errors[k],
    "aria-describedby": errors[k] ? `model-${k}-error` : undefined,
    disabled: readOnly || busy,
  });

  const inferred = useMemo(() => inferProvider(state.endpoint), [state.endpoint]);
  const own = fieldsOf(state.provider || inferred);
  const keys = useApi((signal) => (open ? api.listKeys({ signal }) : Promise.resolve(undefined)), [open]);
  const keyChoices = keys.data?.data ?? [];
  const derivedId = model ? model.id : state.id || slug(state.name);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (readOnly) return;
    const r = buildModel(state, model);
    if (!r.ok) {
      setErrors(r.errors);
      setFormError("Some fields need attention.");
      const first = Object.keys(r.errors)[0];
      document.getElementById(`model-${first}`)?.focus();
      return;
    }
    setBusy(true);
    setFormError(null);
    try {
      const saved = model ? await api.updateModel(model.id, r.model) : await api.createModel(r.model);
      toast("success", model ? `Saved ${saved.name}` : `Registered ${saved.name} as ${saved.id}`);
      onSaved(saved);
      onOpenChange(false);
    } catch (err) {
      const ae = err as ApiError;
      setFormError(ae.message);
      const f = fieldOfParam(ae.param);
      if (f) setErrors((x) => ({ ...x, [f]: ae.message }));
    } finally {
      setBusy(false);
    }
  }

  const fallbackChoices = models.filter((m) => m.id !== derivedId);

  return (
    <Dialog open={open} onOpenChange={(o) => !busy && onOpenChange(o)}>
      <DialogContent wide aria-describedby="model-form-desc">
        <form onSubmit={submit} className="flex min-h-0 flex-1 flex-col" noValidate>
          <DialogHeader>
            <DialogTitle>{readOnly ? model!.name : model ? `Edit ${model.name}` : "Register a model"}</DialogTitle>
            <DialogDescription id="model-form-desc">
              {readOnly ? (
                <span className="inline-flex items-center gap-1">
                  <LockSimple size={13} aria-hidden /> Defined in the config file, so read-only here: change the file and reload the gateway.
                </span>
              ) : model ? (
                <>
                  Changes apply to new requests at once. <code className="font-mono">{model.id}</code> keeps its id.
                </>
              ) : (
                "Any OpenAI-compatible server, a cloud API, or a plugin. Apps call it by its id."
              )}
            </DialogDescription>
          </DialogHeader>
          <DialogBody className="grid gap-5">
            <Section title="Basics">
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Name" htmlFor="model-name" error={errors.name} required>
                  <Input {...text("name")} placeholder="Local Llama" autoFocus={!model} />
                </Field>
                <Field
                  label="Id"
                  htmlFor="model-id"
                  error={errors.id}
                  hint={model ? "The id cannot change." : derivedId ? <>Apps will call it <code className="font-mono">{derivedId}</code></> : "Derived from the name when empty"}
                >
                  <Input {...text("id")} disabled={!!model || readOnly || busy} placeholder={slug(state.name) || "local-llama"} className="font-mono" />
                </Field>
                <Field label="Description" htmlFor="model-description" className="sm:col-span-2" error={errors.description}>
                  <Textarea {...text("description")} rows={2} placeholder="What it is good at" />
                </Field>
                <Field label="Model type" htmlFor="model-modelType" error={errors.modelType}>
                  <Select
                    id="model-modelType"
                    value={state.modelType}
                    onValueChange={(v) => set("modelType", v)}
                    options={MODEL_TYPES.map((t) => ({ value: t, label: t }))}
                    disabled={readOnly || busy}
                  />
                </Field>
                <Field label="Tags" htmlFor="model-tags" hint="Comma-separated" error={errors.tags}>
                  <Input {...text("tags")} placeholder="local, fast" />
                </Field>
                <Field label="Owner" htmlFor="model-owner" error={errors.owner}>
                  <Input {...text("owner")} placeholder="Team or vendor" />
                </Field>
                <Field
                  label="Organization"
                  htmlFor="model-org"
                  error={errors.org}
                  hint={<>Empty: <code className="font-mono">{DEFAULT_ORG}</code>, the org of keys created without one</>}
                >
                  <Input {...text("org")} placeholder={DEFAULT_ORG} />
                </Field>
              </div>
            </Section>

            <Section title="Upstream" description="Where the gateway sends calls.">
              <div className="grid gap-3 sm:grid-cols-2">
                <Field
                  label="Endpoint"
                  htmlFor="model-endpoint"
                  className="sm:col-span-2"
                  error={errors.endpoint}
                  hint={own?.defaultEndpoint ? `Empty: ${own.endpoint}` : undefined}
                >
                  <Input {...text("endpoint")} type="url" inputMode="url" placeholder={own?.endpoint ?? "http://localhost:11434/v1"} className="font-mono" />
                </Field>
                <Field
                  label="Provider"
                  htmlFor="model-provider"
                  error={errors.provider}
                  hint={state.provider ? `${PROVIDERS.join(", ")}, wasm:<plugin>, plugin:<name>` : inferred ? `Inferred from the endpoint: ${inferred}` : "Cannot be inferred from this endpoint: name it"}
                >
                  <Input {...text("provider")} list="provider-choices" placeholder={inferred || "openai"} />
                  <datalist id="provider-choices">
                    {PROVIDERS.map((p) => (
                      <option key={p} value={p} />
                    ))}
                  </datalist>
                </Field>
                <Field
                  label="Upstream model"
                  htmlFor="model-upstreamModel"
                  hint={`${own?.upstreamModelHint ?? "The name the upstream knows it by"} (default: the id)`}
                  error={errors.upstreamModel}
                >
                  <Input {...text("upstreamModel")} placeholder={own?.upstreamModel ?? (derivedId || "llama3.2")} className="font-mono" />
                </Field>
                {own?.region && (
                  <Field label="AWS region" htmlFor="model-region" hint="For an endpoint whose host names none (bedrock-runtime.{region}.amazonaws.com does); empty: AWS_REGION" error={errors.region}>
                    <Input {...text("region")} placeholder="us-east-1" className="font-mono" />
                  </Field>
                )}
                {own?.apiVersion && (
                  <Field label="API version" htmlFor="model-apiVersion" hint={`Empty: ${AZURE_API_VERSION} (none for an /openai/v1 endpoint)`} error={errors.apiVersion}>
                    <Input {...text("apiVersion")} placeholder={AZURE_API_VERSION} className="font-mono" />
                  </Field>
                )}
                <Field
                  label="API key"
                  htmlFor="model-apiKey"
                  error={errors.apiKey}
                  hint={
                    model?.hasApiKey
                      ? "A key is stored. Leave empty to keep it; type a new one to replace it."
                      : `${own?.apiKeyHint ? own.apiKeyHint + ". " : ""}Write-only: stored encrypted, never shown again.`
                  }
                >
                  <Input
                    {...text("apiKey")}
                    type="password"
                    autoComplete="new-password"
                    placeholder={model?.hasApiKey ? "•••••••• (stored)" : (own?.apiKeyPlaceholder ?? "sk-…")}
                    className="font-mono"
                  />
                </Field>
                <Field label="Timeout (ms)" htmlFor="model-timeoutMs" error={errors.timeoutMs} hint="Empty: the gateway's default">
                  <Input {...text("timeoutMs")} inputMode="numeric" placeholder="30000" />
                </Field>
              </div>
            </Section>

            <Section title="Cost and latency" description="Per-token prices in dollars; they drive cost accounting and budgets.">
              <div className="grid gap-3 sm:grid-cols-4">
                <Field label="Cost per token" htmlFor="model-costPerToken" error={errors.costPerToken}>
                  <Input {...text("costPerToken")} inputMode="decimal" placeholder="0.00003" />
                </Field>
                <Field label="Input cost per token" htmlFor="model-inputCostPerToken" error={errors.inputCostPerToken} hint="Overrides the above for input">
                  <Input {...text("inputCostPerToken")} inputMode="decimal" placeholder="0.00000015" />
                </Field>
                <Field label="Output cost per token" htmlFor="model-outputCostPerToken" error={errors.outputCostPerToken}>
                  <Input {...text("outputCostPerToken")} inputMode="decimal" placeholder="0.0000006" />
                </Field>
                <Field label="Typical latency (ms)" htmlFor="model-latency" error={errors.latency} hint="Used until traffic is measured">
                  <Input {...text("latency")} inputMode="decimal" placeholder="800" />
                </Field>
              </div>
            </Section>

            <Section title="Access">
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Security policy" htmlFor="model-securityPolicy" error={errors.securityPolicy}>
                  <Select
                    id="model-securityPolicy"
                    value={state.securityPolicy}
                    onValueChange={(v) => set("securityPolicy", v)}
                    options={[
                      { value: "public", label: "Public: any key" },
                      { value: "organization", label: "Organization: keys of its org" },
                      { value: "private", label: "Private: only allowed keys" },
                    ]}
                    disabled={readOnly || busy}
                  />
                </Field>
              </div>
              <Field
                label="Allowed keys"
                htmlFor="model-allowedKeys"
                error={errors.allowedKeys}
                hint={
                  state.securityPolicy !== "private"
                    ? "Only for the private policy"
                    : state.allowedKeys.length
                      ? "These keys, by id: another key with the same name is not one of them"
                      : "None chosen: no key may use it"
                }
              >
                <div id="model-allowedKeys" className="flex max-h-32 flex-wrap gap-1.5 overflow-y-auto" role="group" aria-label="Allowed keys">
                  {keyChoices.length === 0 && state.allowedKeys.length === 0 && (
                    <span className="text-xs text-muted-foreground">{keys.error ? `Cannot load keys: ${keys.error.message}` : keys.data ? "No keys yet: create one on the Keys page." : "Loading keys…"}</span>
                  )}
                  {keyChoices.map((k) => {
                    const on = state.allowedKeys.includes(k.id);
                    return (
                      <button
                        type="button"
                        key={k.id}
                        disabled={readOnly || busy || state.securityPolicy !== "private"}
                        aria-pressed={on}
                        title={k.id}
                        data-testid={`allowed-key-${k.id}`}
                        onClick={() => set("allowedKeys", on ? state.allowedKeys.filter((x) => x !== k.id) : [...state.allowedKeys, k.id])}
                        className="inline-flex items-center gap-1 rounded-full border px-2.5 py-1 text-xs aria-pressed:border-primary aria-pressed:bg-primary/10 aria-pressed:text-primary hover:bg-accent disabled:opacity-60 cursor-pointer"
                      >
                        <span className="font-medium">{k.name}</span>
                        <span className="text-muted-foreground">{k.org || DEFAULT_ORG}</span>
                        <span className="font-mono text-[10px] text-muted-foreground">{k.id}</span>
                      </button>
                    );
                  })}
                  {keys.data &&
                    state.allowedKeys
                      .filter((id) => !keyChoices.some((k) => k.id === id))
                      .map((id) => (
                        <button
                          type="button"
                          key={id}
                          disabled={readOnly || busy}
                          aria-label={`Remove unknown key ${id}`}
                          onClick={() => set("allowedKeys", state.allowedKeys.filter((x) => x !== id))}
                          className="rounded-full border border-destructive/40 px-2.5 py-1 font-mono text-xs text-destructive hover:bg-destructive/10 disabled:opacity-60 cursor-pointer"
                        >
                          {id} (no such key)
                        </button>
                      ))}
                </div>
              </Field>
            </Section>

            <Section title="Reliability" description="Retries on retryable upstream errors, then the fallbacks in order.">
              <div className="grid gap-3 sm:grid-cols-4">
                <Field label="Retry attempts" htmlFor="model-retryAttempts" error={errors.retryAttempts}>
                  <Input {...text("retryAttempts")} inputMode="numeric" placeholder="2" />
                </Field>
                <Field label="Backoff (ms)" htmlFor="model-retryBackoffMs" error={errors.retryBackoffMs}>
                  <Input {...text("retryBackoffMs")} inputMode="numeric" placeholder="200" />
                </Field>
                <Field label="Max backoff (ms)" htmlFor="model-retryMaxBackoffMs" error={errors.retryMaxBackoffMs}>
                  <Input {...text("retryMaxBackoffMs")} inputMode="numeric" placeholder="2000" />
                </Field>
                <Field label="Cache TTL (s)" htmlFor="model-cacheTtlSeconds" error={errors.cacheTtlSeconds} hint="Exact-match response cache">
                  <Input {...text("cacheTtlSeconds")} inputMode="numeric" placeholder="off" />
                </Field>
              </div>
              <Field label="Fallbacks" htmlFor="model-fallbacks" error={errors.fallbacks} hint={fallbackChoices.length ? "Tried in the order chosen" : "Register more models to use them as fallbacks"}>
                <div id="model-fallbacks" className="flex flex-wrap gap-1.5" role="group" aria-label="Fallbacks">
                  {fallbackChoices.map((m) => {
                    const i = state.fallbacks.indexOf(m.id);
                    return (
                      <button
                        type="button"
                        key={m.id}
                        disabled={readOnly || busy}
                        aria-pressed={i >= 0}
                        onClick={() => set("fallbacks", i >= 0 ? state.fallbacks.filter((x) => x !== m.id) : [...state.fallbacks, m.id])}
                        className="inline-flex items-center gap-1 rounded-full border px-2.5 py-1 text-xs aria-pressed:border-primary aria-pressed:bg-primary/10 aria-pressed:text-primary hover:bg-accent disabled:opacity-60 cursor-pointer"
                      >
                        {i >= 0 && <span className="font-semibold">{i + 1}.</span>}
                        <span className="font-mono">{m.id}</span>
                      </button>
                    );
                  })}
                  {state.fallbacks
                    .filter((f) => !fallbackChoices.some((m) => m.id === f))
                    .map((f) => (
                      <span key={f} className="rounded-full border border-destructive/40 px-2.5 py-1 font-mono text-xs text-destructive">
                        {f} (unknown)
                      </span>
                    ))}
                </div>
              </Field>
            </Section>

            <Section title="Schemas" description="JSON Schemas of what the model takes and returns. Invocations are checked against the input schema, and the test dialog builds its form from it.">
              <div className="grid gap-3 lg:grid-cols-2">
                <Field label="Input schema" htmlFor="model-inputSchema" error={undefined}>
                  <JsonEditor id="model-inputSchema" value={state.inputSchema} onChange={(v) => set("inputSchema", v)} schema disabled={readOnly || busy} error={errors.inputSchema} placeholder='{"type": "object", …}' />
                </Field>
                <Field label="Output schema" htmlFor="model-outputSchema" error={undefined}>
                  <JsonEditor id="model-outputSchema" value={state.outputSchema} onChange={(v) => set("outputSchema", v)} schema disabled={readOnly || busy} error={errors.outputSchema} placeholder='{"type": "object", …}' />
                </Field>
              </div>
            </Section>
          </DialogBody>
          <DialogFooter>
            <InlineError message={formError} className="mr-auto max-w-xl py-1.5" />
            <Button variant="outline" onClick={() => onOpenChange(false)} disabled={busy}>
              {readOnly ? "Close" : "Cancel"}
            </Button>
            {!readOnly && (
              <Button type="submit" disabled={busy}>
                {busy ? "Saving…" : model ? "Save changes" : "Register model"}
              </Button>
            )}
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
