"""A clear message when a config's data is not where it says, instead of a traceback from deep inside."""
import os.path as osp

LAYOUTS = {
    'ImageNet': ('the ImageNet layout', """    {root}/
      meta/train.txt, meta/val.txt   "<relative path> <label>" per line (optional for train)
      train/n01440764/*.JPEG ...     one folder per class
      val/...                        images listed in meta/val.txt"""),
    'CustomDataset': ('one folder per class', """    {root}/
      <class_a>/*.jpg
      <class_b>/*.jpg"""),
    'CocoDataset': ('the COCO layout', """    {root}/
      annotations/instances_train2017.json, instances_val2017.json
      train2017/*.jpg, val2017/*.jpg"""),
    'ADE20KDataset': ('the ADE20K layout', """    {root}/
      images/training/*.jpg, images/validation/*.jpg
      annotations/training/*.png, annotations/validation/*.png"""),
}


def _innermost_dataset(dataset_cfg):
    while isinstance(dataset_cfg, dict) and isinstance(dataset_cfg.get('dataset'), dict):
        dataset_cfg = dataset_cfg['dataset']  # RepeatDataset, ClassBalancedDataset, ...
    return dataset_cfg


def find_missing_data(cfg, dataloader_keys=('train_dataloader', 'val_dataloader', 'test_dataloader')):
    """Return an explanatory message if a dataloader's ``data_root`` does not exist, else None."""
    for key in dataloader_keys:
        loader = cfg.get(key)
        if not loader:
            continue
        dataset = _innermost_dataset(loader.get('dataset'))
        root = dataset.get('data_root') if isinstance(dataset, dict) else None
        if not root or osp.isdir(root):
            continue
        dataset_type = str(dataset.get('type', '')).split('.')[-1]
        name, tree = LAYOUTS.get(dataset_type, ('the layout its dataset class expects', '    {root}/...'))
        return (f'Dataset not found: {key}.dataset.data_root = {root!r} ({osp.abspath(root)}) does not exist.\n'
                f'{dataset_type or "The dataset"} expects {name}:\n{tree.format(root=root)}\n'
                f'Put (or symlink) the data there, or point the config elsewhere with\n'
                f'    --cfg-options {key}.dataset.data_root=/path/to/data\n'
                f'To see the whole pipeline run without any downloaded data, `make demo` trains and evaluates '
                f'DaViT-T on a generated synthetic dataset.')
    return None
