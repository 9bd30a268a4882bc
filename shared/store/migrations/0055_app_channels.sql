-- Provider apps bound to carriers or payment channels (auth.App.Channels):
-- a bound provider touches only its own waybills or payment orders.
ALTER TABLE apps ADD COLUMN channels text[] NOT NULL DEFAULT '{}';
