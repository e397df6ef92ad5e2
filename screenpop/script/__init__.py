"""The guided preinstallation call: provider configuration, script rendering, money, progress."""
