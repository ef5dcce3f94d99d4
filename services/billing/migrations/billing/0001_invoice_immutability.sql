-- An issued invoice is a legal record: its lines never change and of the invoice itself only the
-- payment state may (status, paid_at and the retry bookkeeping). Enforced here rather than only in
-- the service, so no code path (nor a hand-run UPDATE) can rewrite what a customer was billed.
CREATE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'invoice_lines' THEN
    RAISE EXCEPTION 'invoice lines are immutable once issued' USING ERRCODE = 'P0001';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'invoice % is immutable once issued', OLD.number USING ERRCODE = 'P0001';
  END IF;
  IF (NEW.id, NEW.sequence, NEW.number, NEW.subscription_id, NEW.plan, NEW.period_start, NEW.period_end,
      NEW.currency, NEW.total_minor, NEW.recipients, NEW.issued_at, NEW.due_at)
     IS DISTINCT FROM
     (OLD.id, OLD.sequence, OLD.number, OLD.subscription_id, OLD.plan, OLD.period_start, OLD.period_end,
      OLD.currency, OLD.total_minor, OLD.recipients, OLD.issued_at, OLD.due_at) THEN
    RAISE EXCEPTION 'invoice % is immutable once issued: only its payment state may change', OLD.number
      USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();
--> statement-breakpoint
CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();
