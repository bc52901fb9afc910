// placeholder: replaced by its module's implementation
