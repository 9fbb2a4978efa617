"""Use a model on one image: ``list_models``, ``get_model``, ``inference_model``, ``draw_result``."""
from .inference import (add_image_and_model_arguments, draw_result, get_model, image_and_model_or_exit,
                        inference_model, model_task, read_image)
from .model_zoo import UnknownModelError, list_models, metafile_models, model_config_path

__all__ = ['UnknownModelError', 'add_image_and_model_arguments', 'draw_result', 'get_model',
           'image_and_model_or_exit', 'inference_model', 'list_models', 'metafile_models', 'model_config_path',
           'model_task', 'read_image']
