"""Placeholder until the data layer lands: no data checks yet."""


def plan_data(recipe, backend):
    return {"train_file": recipe.data_path(recipe.recipe.data.train)}, [], []
