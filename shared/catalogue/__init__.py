"""The public service catalogue (公共文化服务目录): what each org unit offers residents."""
