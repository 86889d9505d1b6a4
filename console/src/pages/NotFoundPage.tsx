import { Compass } from "@phosphor-icons/react";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/states";
import { Link } from "@/lib/router";
import { Page, PageHeader } from "@/components/Layout";

export function NotFoundPage() {
  return (
    <Page>
      <PageHeader title="Not found" />
      <EmptyState icon={<Compass size={36} />} title="There is no page here" action={<Button asChild><Link to="/">Go to the registry</Link></Button>}>
        The address may be mistyped, or the page was moved.
      </EmptyState>
    </Page>
  );
}
