import { Check, Copy } from "@phosphor-icons/react";
import { useState } from "react";
import { pretty } from "@/lib/format";
import { cn } from "@/lib/utils";

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without clipboard permission (plain http, or a headless browser), fall back to a selection.
    const ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton({ text, label = "Copy", className }: { text: string; label?: string; className?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className={cn(
        "inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs text-muted-foreground hover:bg-accent hover:text-foreground focus-visible:outline-2 focus-visible:outline-ring cursor-pointer",
        className,
      )}
      onClick={async () => {
        await copyText(text);
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? <Check size={13} aria-hidden /> : <Copy size={13} aria-hidden />}
      {done ? "Copied" : label}
    </button>
  );
}

/** A block of JSON or text, scrollable, with a copy button. */
export function CodeBlock({ value, className, maxHeight = "max-h-72", label }: { value: unknown; className?: string; maxHeight?: string; label?: string }) {
  const text = pretty(value);
  return (
    <div className={cn("relative rounded-md border bg-muted/60", className)}>
      <div className="absolute right-1 top-1">
        <CopyButton text={text} />
      </div>
      <pre aria-label={label} className={cn("overflow-auto whitespace-pre-wrap break-all p-3 pr-16 font-mono text-xs leading-relaxed", maxHeight)}>
        {text || <span className="text-muted-foreground">(empty)</span>}
      </pre>
    </div>
  );
}
