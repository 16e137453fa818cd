"""The file MLflow runs to build profond's pyfunc model ("models from code"): the model is
defined by code, not unpickled, like every model profond loads."""

import mlflow.models

from profond.inference.pyfunc import ProfondPyfunc

mlflow.models.set_model(ProfondPyfunc())
