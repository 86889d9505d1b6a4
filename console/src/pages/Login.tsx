import { Key, SignIn } from "@phosphor-icons/react";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { InlineError } from "@/components/ui/states";
import { api, setToken } from "@/lib/api";
import { Logo } from "@/components/Logo";

/** The sign-in prompt: the admin token is checked against /api/status and kept for this tab. */
export function Login({ reason }: { reason?: string | null }) {
  const [token, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError("Enter the admin token.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.status({ token: t });
      setToken(t);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-full items-center justify-center bg-gradient-to-br from-background to-secondary p-6">
      <form onSubmit={submit} className="w-full max-w-sm rounded-xl border bg-card p-6 shadow-lg" aria-labelledby="login-title">
        <div className="mb-5 flex items-center gap-2.5">
          <Logo size={32} />
          <div>
            <h1 id="login-title" className="text-lg font-semibold leading-tight">
              IoM console
            </h1>
            <p className="text-xs text-muted-foreground">Internet of Models · admin</p>
          </div>
        </div>
        {reason && (
          <p className="mb-4 rounded-md bg-warning/15 px-3 py-2 text-sm text-[oklch(0.45_0.12_65)]" role="status">
            Signed out: {reason}
          </p>
        )}
        <div className="grid gap-1.5">
          <Label htmlFor="admin-token">Admin token</Label>
          <div className="relative">
            <Key size={16} className="absolute left-2.5 top-1/2 -translate-y-1/2 text-muted-foreground" aria-hidden />
            <Input
              id="admin-token"
              type="password"
              autoComplete="current-password"
              autoFocus
              className="pl-8 font-mono"
              value={token}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={!!error}
              aria-describedby="admin-token-hint"
            />
          </div>
          <p id="admin-token-hint" className="text-xs text-muted-foreground">
            Printed by <code>iom serve</code> on its first start (and kept in <code>data/credentials</code>). It stays in this tab only.
          </p>
        </div>
        <InlineError message={error} className="mt-3" />
        <Button type="submit" className="mt-5 w-full" disabled={busy}>
          <SignIn size={16} aria-hidden /> {busy ? "Checking…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
