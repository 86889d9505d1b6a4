import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Layout } from "./components/Layout";
import { ToastProvider } from "./components/ui/toast";
import { TooltipProvider } from "./components/ui/tooltip";
import { Spinner } from "./components/ui/states";
import { getToken, onAuthChange } from "./lib/api";
import { matchPath, navigate, ParamsProvider, useLocation } from "./lib/router";
import { Login } from "./pages/Login";
import { RegistryPage } from "./pages/registry/RegistryPage";
import { NotFoundPage } from "./pages/NotFoundPage";

// Every page but the registry loads on demand, so the first page does not wait for the others
// (React Flow and Recharts above all).
const BuilderPage = lazy(() => import("./pages/pipelines/BuilderPage"));
const AnalyticsPage = lazy(() => import("./pages/analytics/AnalyticsPage"));
const PipelinesPage = lazy(() => import("./pages/pipelines/PipelinesPage").then((m) => ({ default: m.PipelinesPage })));
const ExecutionsPage = lazy(() => import("./pages/executions/ExecutionsPage").then((m) => ({ default: m.ExecutionsPage })));
const ExecutionDetailPage = lazy(() => import("./pages/executions/ExecutionDetailPage").then((m) => ({ default: m.ExecutionDetailPage })));
const KeysPage = lazy(() => import("./pages/KeysPage").then((m) => ({ default: m.KeysPage })));
const PluginsPage = lazy(() => import("./pages/PluginsPage").then((m) => ({ default: m.PluginsPage })));
const McpPage = lazy(() => import("./pages/mcp/McpPage").then((m) => ({ default: m.McpPage })));
const ClusterPage = lazy(() => import("./pages/ClusterPage").then((m) => ({ default: m.ClusterPage })));
const ApiReferencePage = lazy(() => import("./pages/ApiReferencePage").then((m) => ({ default: m.ApiReferencePage })));

interface RouteDef {
  path: string;
  /** Routes with the same key keep the page mounted when switching between them. */
  key?: string;
  render: () => ReactNode;
}

const routes: RouteDef[] = [
  { path: "/", render: () => <RegistryPage /> },
  { path: "/models", render: () => <RegistryPage /> },
  { path: "/pipelines", render: () => <PipelinesPage /> },
  { path: "/pipelines/new", key: "builder", render: () => <BuilderPage /> },
  { path: "/pipelines/:id", key: "builder", render: () => <BuilderPage /> },
  { path: "/executions", render: () => <ExecutionsPage /> },
  { path: "/executions/:id", render: () => <ExecutionDetailPage /> },
  { path: "/analytics", render: () => <AnalyticsPage /> },
  { path: "/keys", render: () => <KeysPage /> },
  { path: "/plugins", render: () => <PluginsPage /> },
  { path: "/mcp", render: () => <McpPage /> },
  { path: "/cluster", render: () => <ClusterPage /> },
  { path: "/reference", render: () => <ApiReferencePage /> },
];

function Routes() {
  const { pathname } = useLocation();
  for (const r of routes) {
    const params = matchPath(r.path, pathname);
    if (params) {
      return (
        <ParamsProvider value={params} key={r.key ?? r.path}>
          <ErrorBoundary resetKey={pathname}>
          <Suspense
            fallback={
              <div className="p-8">
                <Spinner label="Loading page" />
              </div>
            }
          >
            {r.render()}
          </Suspense>
          </ErrorBoundary>
        </ParamsProvider>
      );
    }
  }
  return <NotFoundPage />;
}

export function App() {
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [reason, setReason] = useState<string | null>(null);
  useEffect(
    () =>
      onAuthChange((why) => {
        setTokenState(getToken());
        setReason(why);
      }),
    [],
  );
  useEffect(() => {
    // Old links to the API's path prefix land on the reference page.
    if (window.location.pathname === "/api") navigate("/reference", { replace: true });
  }, []);
  return (
    <TooltipProvider>
      <ToastProvider>
        {token ? (
          <Layout>
            <Routes />
          </Layout>
        ) : (
          <Login reason={reason} />
        )}
      </ToastProvider>
    </TooltipProvider>
  );
}
