import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { ToastProvider } from "@/components/ui/toast";
import { TooltipProvider } from "@/components/ui/tooltip";
import { ParamsProvider } from "@/lib/router";

export function renderPage(ui: ReactElement, params: Record<string, string> = {}) {
  return render(
    <TooltipProvider>
      <ToastProvider>
        <ParamsProvider value={params}>{ui}</ParamsProvider>
      </ToastProvider>
    </TooltipProvider>,
  );
}
