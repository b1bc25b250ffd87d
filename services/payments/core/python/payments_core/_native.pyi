CORE: str
