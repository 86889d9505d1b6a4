import { cva, type VariantProps } from "class-variance-authority";
import type { HTMLAttributes } from "react";
import { cn } from "@/lib/utils";

const badgeVariants = cva("inline-flex items-center gap-1 rounded-md border px-1.5 py-0.5 text-[11px] font-medium leading-none whitespace-nowrap", {
  variants: {
    variant: {
      default: "border-transparent bg-secondary text-secondary-foreground",
      outline: "border-border text-foreground/80 bg-card",
      success: "border-transparent bg-success/12 text-success",
      warning: "border-transparent bg-warning/15 text-[oklch(0.5_0.13_65)]",
      destructive: "border-transparent bg-destructive/10 text-destructive",
      muted: "border-transparent bg-muted text-muted-foreground",
      primary: "border-transparent bg-primary text-primary-foreground",
    },
  },
  defaultVariants: { variant: "default" },
});

export interface BadgeProps extends HTMLAttributes<HTMLSpanElement>, VariantProps<typeof badgeVariants> {}

export function Badge({ className, variant, ...props }: BadgeProps) {
  return <span className={cn(badgeVariants({ variant }), className)} {...props} />;
}
