import { BookOpen, ChartLine, Cube, FlowArrow, HardDrives, Key, List, ListChecks, PuzzlePiece, SignOut, Wrench, X } from "@phosphor-icons/react";
import { useState, type ReactNode } from "react";
import { Logo } from "./Logo";
import { Tooltip } from "./ui/tooltip";
import { api, signOut } from "@/lib/api";
import { useApi, useDocumentTitle } from "@/lib/hooks";
import { Link, useLocation } from "@/lib/router";
import { cn } from "@/lib/utils";

const nav = [
  { to: "/models", label: "Registry", icon: Cube, match: (p: string) => p === "/" || p.startsWith("/models") },
  { to: "/pipelines", label: "Pipelines", icon: FlowArrow },
  { to: "/executions", label: "Executions", icon: ListChecks },
  { to: "/analytics", label: "Analytics", icon: ChartLine },
  { to: "/keys", label: "Keys", icon: Key },
  { to: "/plugins", label: "Plugins", icon: PuzzlePiece },
  { to: "/mcp", label: "MCP", icon: Wrench },
  { to: "/cluster", label: "Cluster", icon: HardDrives },
  { to: "/reference", label: "API", icon: BookOpen },
];

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  const [open, setOpen] = useState(false);
  // The model and key counts follow the console's own changes at once, and others' every 30 s.
  const status = useApi((signal) => api.status({ signal }), [], 30_000, ["models", "keys"]);
  const s = status.data;
  return (
    <div className="flex h-full">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:z-[90] focus:m-2 focus:rounded focus:bg-card focus:p-2">
        Skip to content
      </a>
      <aside
        className={cn(
          "fixed inset-y-0 left-0 z-40 flex w-56 shrink-0 flex-col bg-sidebar text-sidebar-foreground transition-transform lg:static lg:translate-x-0",
          open ? "translate-x-0" : "-translate-x-full",
        )}
        aria-label="Sidebar"
      >
        <div className="flex h-14 items-center gap-2 px-4">
          <Logo size={26} />
          <div className="leading-tight">
            <div className="text-sm font-semibold text-white">IoM</div>
            <div className="text-[10px] uppercase tracking-wider text-sidebar-foreground/60">Internet of Models</div>
          </div>
          <button className="ml-auto rounded p-1 hover:bg-white/10 lg:hidden cursor-pointer" onClick={() => setOpen(false)} aria-label="Close menu">
            <X size={16} />
          </button>
        </div>
        <nav aria-label="Main" className="flex-1 space-y-0.5 px-2 py-2">
          {nav.map((n) => {
            const active = n.match ? n.match(pathname) : pathname.startsWith(n.to);
            const Icon = n.icon;
            return (
              <Link
                key={n.to}
                to={n.to}
                onClick={() => setOpen(false)}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "flex items-center gap-2.5 rounded-md px-2.5 py-2 text-sm transition-colors hover:bg-white/8 hover:text-white focus-visible:outline-2 focus-visible:outline-white/60",
                  active && "bg-white/12 font-medium text-white",
                )}
              >
                <Icon size={18} weight={active ? "fill" : "regular"} aria-hidden />
                {n.label}
              </Link>
            );
          })}
        </nav>
        <div className="border-t border-white/10 p-3 text-xs">
          {s ? (
            <div className="mb-2 space-y-0.5 text-sidebar-foreground/70">
              <div className="flex items-center gap-1.5">
                <span className="h-1.5 w-1.5 rounded-full bg-emerald-400" aria-hidden />
                <span>Gateway {s.version}</span>
              </div>
              <Tooltip content="The OpenAI-compatible data plane your apps call">
                <div className="truncate font-mono">data {s.listen}</div>
              </Tooltip>
              <div>
                {s.models} {s.models === 1 ? "model" : "models"} · {s.keys} {s.keys === 1 ? "key" : "keys"}
              </div>
            </div>
          ) : status.error ? (
            <div className="mb-2 text-red-300" role="status">
              Gateway unreachable
            </div>
          ) : null}
          <button
            onClick={() => signOut(null)}
            className="flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-sidebar-foreground/80 hover:bg-white/8 hover:text-white cursor-pointer"
          >
            <SignOut size={16} aria-hidden /> Sign out
          </button>
        </div>
      </aside>
      {open && <div className="fixed inset-0 z-30 bg-black/30 lg:hidden" onClick={() => setOpen(false)} aria-hidden />}
      <div className="flex min-w-0 flex-1 flex-col">
        <div className="flex h-12 items-center gap-2 border-b bg-card px-3 lg:hidden">
          <button className="rounded p-1.5 hover:bg-accent cursor-pointer" onClick={() => setOpen(true)} aria-label="Open menu">
            <List size={18} />
          </button>
          <span className="text-sm font-semibold">IoM console</span>
        </div>
        <main id="main" className="min-h-0 flex-1 overflow-auto">
          {children}
        </main>
      </div>
    </div>
  );
}

/** The padded, width-limited frame of an ordinary page. */
export function Page({ children, className }: { children: ReactNode; className?: string }) {
  return <div className={cn("mx-auto w-full max-w-[1400px] px-6 py-5", className)}>{children}</div>;
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <div className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        <h1 className="text-xl font-semibold tracking-tight">{title}</h1>
        {description && <p className="mt-0.5 text-sm text-muted-foreground">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}
