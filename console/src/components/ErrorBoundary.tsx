import { Component, type ErrorInfo, type ReactNode } from "react";
import { ErrorState } from "./ui/states";

/** Shows a page's crash as a message (with a retry) instead of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: Error | null; key?: string }> {
  state: { error: Error | null; key?: string } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey?: string }, state: { error: Error | null; key?: string }) {
    if (props.resetKey !== state.key) return { error: null, key: props.resetKey };
    return null;
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error("console page crashed", error, info.componentStack);
  }

  render() {
    if (this.state.error)
      return (
        <div className="p-6">
          <ErrorState
            title="This page failed to render"
            error={this.state.error}
            onRetry={() => {
              // A failed lazy chunk (after an upgrade of the gateway) needs a full reload.
              if (/dynamically imported module|Importing a module script failed/i.test(this.state.error?.message ?? "")) window.location.reload();
              else this.setState({ error: null });
            }}
          />
        </div>
      );
    return this.props.children;
  }
}
