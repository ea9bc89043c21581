"""Pure numerical analytics: arrays in, arrays out, no database."""
