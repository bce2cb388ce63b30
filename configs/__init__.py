"""ada's Hydra config tree. Installed as the package `ada.configs` (see pyproject.toml), so the
YAML files ship inside the distribution; located by `ada.paths.config_dir`."""
