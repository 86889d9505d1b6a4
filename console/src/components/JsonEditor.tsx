import { CheckCircle, WarningCircle } from "@phosphor-icons/react";
import { useMemo } from "react";
import { Textarea } from "./ui/input";
import { Button } from "./ui/button";
import { exampleSchemas, parseJSON, validateSchemaText } from "@/lib/jsonschema";
import { cn } from "@/lib/utils";

/**
 * A JSON text area that says, as the user types, whether the text parses (and, for schemas,
 * whether it looks like a JSON Schema), with buttons to format it and insert examples.
 */
export function JsonEditor({
  id,
  value,
  onChange,
  schema = false,
  placeholder,
  rows = 8,
  disabled,
  error,
  allowEmpty = true,
  "aria-label": ariaLabel,
}: {
  id?: string;
  value: string;
  onChange: (v: string) => void;
  schema?: boolean;
  placeholder?: string;
  rows?: number;
  disabled?: boolean;
  error?: string;
  allowEmpty?: boolean;
  "aria-label"?: string;
}) {
  const problems = useMemo(() => {
    if (!value.trim()) return allowEmpty ? [] : ["Enter JSON"];
    if (schema) return validateSchemaText(value).errors;
    const p = parseJSON(value);
    return p.error ? [p.error] : [];
  }, [value, schema, allowEmpty]);
  const ok = value.trim() !== "" && problems.length === 0;
  return (
    <div className="grid gap-1.5">
      <Textarea
        id={id}
        aria-label={ariaLabel}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        rows={rows}
        spellCheck={false}
        disabled={disabled}
        placeholder={placeholder}
        aria-invalid={problems.length > 0 || !!error}
        aria-describedby={id ? `${id}-status` : undefined}
        className="font-mono text-xs leading-relaxed"
      />
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div id={id ? `${id}-status` : undefined} className="min-w-40 flex-1 text-xs" aria-live="polite">
          {problems.length > 0 ? (
            <ul className="space-y-0.5 text-destructive">
              {problems.slice(0, 4).map((p) => (
                <li key={p} className="flex gap-1">
                  <WarningCircle size={13} className="mt-px shrink-0" aria-hidden />
                  <span className="break-words">{p}</span>
                </li>
              ))}
              {problems.length > 4 && <li>…and {problems.length - 4} more</li>}
            </ul>
          ) : error ? (
            <span className="text-destructive">{error}</span>
          ) : ok ? (
            <span className="inline-flex items-center gap-1 text-success">
              <CheckCircle size={13} aria-hidden /> {schema ? "Valid JSON Schema" : "Valid JSON"}
            </span>
          ) : (
            <span className="text-muted-foreground">{schema ? "Optional. Inputs are checked against it." : ""}</span>
          )}
        </div>
        {!disabled && (
          <div className={cn("flex shrink-0 flex-wrap gap-1")}>
            {value.trim() && problems.length === 0 && (
              <Button size="xs" variant="ghost" onClick={() => onChange(JSON.stringify(JSON.parse(value), null, 2))}>
                Format
              </Button>
            )}
            {schema &&
              Object.entries(exampleSchemas).map(([k, ex]) => (
                <Button key={k} size="xs" variant="ghost" onClick={() => onChange(JSON.stringify(ex.schema, null, 2))}>
                  {ex.label}
                </Button>
              ))}
          </div>
        )}
      </div>
    </div>
  );
}
