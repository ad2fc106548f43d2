from django.apps import AppConfig


class MaskingConfig(AppConfig):
    name = "controlplane.masking"
    label = "masking"
    verbose_name = "Masking policies"
